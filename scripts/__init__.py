"""Developer tools beside the app (never shipped), each a module run from the project root:
``.venv/bin/python -m scripts.NAME``, most of them through a make target (Makefile).
"""
