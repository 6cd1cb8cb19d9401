"""Authoring tools: build the releases, check modules against the authoring rules."""
