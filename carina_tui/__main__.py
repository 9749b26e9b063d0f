from carina_tui.cli import main

raise SystemExit(main())
