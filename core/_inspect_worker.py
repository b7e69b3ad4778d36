"""Worker process: inspect one untrusted file (no TensorFlow, no Keras) and print a verdict.

`python -m core._inspect_worker FILE [DATA...]`, or with `--stdin` the same paths as one JSON
list on standard input (a checker started ahead of the upload waits there).
"""

import json
import sys

from core.inspect.worker import main

if __name__ == "__main__":
    args = sys.argv[1:]
    if args == ["--stdin"]:
        args = [str(a) for a in json.loads(sys.stdin.readline() or "[]")]
    sys.exit(main(args))
