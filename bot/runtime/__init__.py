"""How focusbot runs: settings, services, scheduler, request inbox, logs, manifest, doctor."""
