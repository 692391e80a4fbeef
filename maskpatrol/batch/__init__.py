"""``python -m maskpatrol batch``: audits of large archives on Ray Data, embedded or on a cluster.

The work is split by job: :mod:`.inputs` turns the INPUT arguments into a list of files,
:mod:`.rows` is the output schema (one row per face, per faceless image or frame, per
error), :mod:`.work` analyses one input with the shared pipeline (no Ray), :mod:`.store`
writes whole parts atomically and knows which inputs are done (resume), and :mod:`.job`
runs it all on Ray. Only :mod:`.job` imports Ray (and :mod:`.store` pyarrow, which comes
with ``ray[data]``), so listing and analysis are importable, and testable, without them.
"""
