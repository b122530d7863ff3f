"""One module per experiment of the issue (1-5); each exposes ``run(ctx) -> RunRecord`` ending in its claims."""
