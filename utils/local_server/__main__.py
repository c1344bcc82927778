"""``python -m utils.local_server start|status|stop|log``."""

from utils.local_server import main

raise SystemExit(main())
