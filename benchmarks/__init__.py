"""Speed, memory and accuracy benchmarks, beside the app rather than inside it (never shipped).

Each is a module run from the project root: ``.venv/bin/python -m benchmarks.bench_pipeline
--help``; they share code by importing each other (``from benchmarks.scenes import ...``).
"""
