"""Notifications for the ``watch`` command: one change feed per person, sent off the frame loop.

- :mod:`.messages` builds the JSON message (Frigate's ``frigate/events`` shape, adapted to
  people: ``type`` new/end, ``before``/``after``, one ``id`` per person) and signs its body
  with HMAC-SHA256 when ``MASKPATROL_WEBHOOK_SECRET`` is set.
- :mod:`.webhooks` POSTs each message to every ``--webhook URL`` from a worker thread per
  URL, with a timeout, retries with backoff, per-URL counters, and a bounded drain on close
  that hands whatever could not be delivered to the caller (``on_undelivered``).

Nothing here imports Streamlit, the pipeline or a third-party HTTP client: the standard
library's ``urllib`` is enough for a JSON POST.
"""
