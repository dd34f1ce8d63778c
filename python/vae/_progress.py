"""The progress `fit` shows when it is given no callback: a bar redrawn in place in a terminal
or a notebook, a line per epoch elsewhere (a log file, a pipe)."""

import sys
import time


def _in_place(stream) -> bool:
    if "ipykernel" in sys.modules:
        return True
    return hasattr(stream, "isatty") and stream.isatty()


class ProgressBar:
    """Called with each event `fit` reports; draws at most ten times a second."""

    def __init__(self, stream=None):
        self.stream = stream if stream is not None else sys.stderr
        self.in_place = _in_place(self.stream)
        self.drawn = 0.0
        self.started = time.monotonic()

    def __call__(self, event: dict) -> None:
        if event["event"] == "batch":
            if event["batch"] == 1:
                self.started = time.monotonic()
            now = time.monotonic()
            if not self.in_place or (now - self.drawn < 0.1 and event["batch"] != event["batches"]):
                return
            self.drawn = now
            done = event["batch"] / event["batches"]
            width = 30
            bar = "#" * int(done * width) + "-" * (width - int(done * width))
            rate = event["images"] / max(now - self.started, 1e-9)
            self.stream.write(
                f"\repoch {event['epoch']}/{event['epochs']} [{bar}] "
                f"{event['batch']}/{event['batches']}  loss {event['loss']:.2f}  {rate:.0f} img/s"
            )
            self.stream.flush()
        else:
            if self.in_place:
                self.stream.write("\r" + " " * 100 + "\r")
            self.stream.write(
                f"epoch {event['epoch']}/{event['epochs']}: train loss {event['train_loss']:.2f}, "
                f"held-out loss {event['test_loss']:.2f} ({event['seconds']:.1f} s, "
                f"{event['images_per_second']:.0f} img/s)\n"
            )
            self.stream.flush()
