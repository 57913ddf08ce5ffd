import sys

from stockfeed_producer.cli import main

sys.exit(main())
