"""The great_expectations engine: running suites on partitions, the patches that make it
fast, Data Docs pages and the checks' resource. great_expectations is imported on first use."""
