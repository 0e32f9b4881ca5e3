import signal

import pytest


@pytest.fixture
def ctrl_c():
    """Python's own SIGINT handler for the test, whatever this process inherited.

    A shell that starts a command in the background without job control (`cmd &` in a script,
    `nohup ... &`) starts it with SIGINT ignored, and Python then installs no handler: a test that
    raises SIGINT would see no KeyboardInterrupt (a CI run launched that way hung 17 minutes).
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)
