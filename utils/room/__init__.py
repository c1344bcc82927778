"""One model server for a whole workshop room, with a key per learner.

From a shell (``make room`` runs the first)::

    python -m utils.room start [--learners 20] [--host 0.0.0.0]   # serve until Ctrl-C
    python -m utils.room watch                                      # the instructor's live view
    python -m utils.room revoke learner-07                          # that key stops working
    python -m utils.room list

``roster`` keeps the keys on disk, ``server`` runs the engine, ``watch`` reads its metrics.
Learners change no notebook: ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` select the room.
"""
