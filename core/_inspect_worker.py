"""Worker process: inspect one untrusted file (no TensorFlow, no Keras) and print a verdict."""

import sys

from core.inspect.worker import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
