from stockfeed_operator.cli import main

raise SystemExit(main())
