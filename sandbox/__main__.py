"""``python -m sandbox``: serve the fake Cloud API (and its control API) on loopback."""

from sandbox.main import main
from shared.ops import run_main
from shared.runtime import use_uvloop

if __name__ == "__main__":
    use_uvloop()
    run_main(main)
