"""The benchmark suite: one script per question, `python -m bench.run_all [--quick]` for all."""
