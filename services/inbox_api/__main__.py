"""``python -m services.inbox_api``: serve the agents' API and the web inbox."""

from services.inbox_api.main import main
from shared.ops import run_main

if __name__ == "__main__":
    run_main(main)
