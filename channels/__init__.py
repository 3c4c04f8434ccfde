"""Channel adapters: one package per channel, each exporting ``CHANNEL`` (see hub.contract)."""
