"""``python -m examples.fastapi_app [--host H] [--port P]``: serve the example with uvicorn."""

import argparse

import uvicorn


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m examples.fastapi_app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    uvicorn.run("examples.fastapi_app.app:app", host=args.host, port=args.port)


if __name__ == "__main__":
    main()
