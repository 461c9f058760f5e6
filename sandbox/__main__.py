"""``python -m sandbox``: serve the fake Cloud API (and its control API) on loopback."""

from sandbox.main import main, use_uvloop
from shared.ops import run_main

if __name__ == "__main__":
    use_uvloop()
    run_main(main)
