"""Switchboard's hub: wires channels, the CRM core and knowledge together."""
