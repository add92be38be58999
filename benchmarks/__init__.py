"""Side-by-side measurements of breakglass against the aws CLI on one moto server."""
