"""``python -m gateway``: serve the API with the settings from the environment."""

import logging

import uvicorn

from gateway.app import create_app
from runner.settings import Settings


def main() -> None:
    settings = Settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_level="warning",
        access_log=False,
        ws_max_size=settings.shell_frame_max_bytes,  # shells' websocket messages, refused before buffered
    )


if __name__ == "__main__":
    main()
