"""What every MNIST digit is: 28×28 grey pixels and one of 10 classes.

Kept apart from `core.data` and free of NumPy, so that the modules every page imports (network
specs, the session) do not load NumPy before a fresh server has drawn its first heading.
"""

NUM_CLASSES = 10
IMAGE_SIZE = 28
