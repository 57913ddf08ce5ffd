import sys

from stockfeed_dbt_worker.cli import main

sys.exit(main())
