"""``python -m services.outbound_sender`` runs the sender until SIGTERM or SIGINT."""

from services.outbound_sender.main import main
from shared.ops import run_main
from shared.runtime import use_uvloop

if __name__ == "__main__":
    use_uvloop()
    run_main(main)
