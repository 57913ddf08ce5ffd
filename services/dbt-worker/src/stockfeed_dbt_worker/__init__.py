"""A warm dbt: one long-lived process that has imported dbt and parsed the project, forking a child per command."""
