import os

os.environ.setdefault("REPRO_NO_PROGRESS", "1")
