"""The docs site's generated pages: configuration from the settings model, REST from OpenAPI."""
