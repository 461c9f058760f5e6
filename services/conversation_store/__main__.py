"""``python -m services.conversation_store`` runs the store until SIGTERM or SIGINT."""

from services.conversation_store.main import main
from shared.ops import run_main

if __name__ == "__main__":
    run_main(main)
