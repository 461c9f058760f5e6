"""``./dev bench sandbox``: the WhatsApp sandbox's throughput beside an empty FastAPI endpoint."""

from sandbox.bench import main

if __name__ == "__main__":
    main()
