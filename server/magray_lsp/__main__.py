from magray_lsp.cli import main

raise SystemExit(main())
