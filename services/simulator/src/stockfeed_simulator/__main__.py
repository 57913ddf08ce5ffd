import sys

from stockfeed_simulator.cli import main

sys.exit(main())
