"""``python -m services.webhook_ingest``: serve Meta's webhook endpoint."""

from services.webhook_ingest.main import main
from shared.ops import run_main
from shared.runtime import use_uvloop

if __name__ == "__main__":
    use_uvloop()
    run_main(main)
