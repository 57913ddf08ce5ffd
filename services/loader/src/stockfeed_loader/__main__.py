import sys

from stockfeed_loader.cli import main

sys.exit(main())
