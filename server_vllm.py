#!/usr/bin/env python
"""Start the functionary server: `python server_vllm.py --model PATH` (see --help)."""

from functionary.cli import main

if __name__ == "__main__":
    main()
