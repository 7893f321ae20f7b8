"""Golden-master reference of a demo run (issue 13): the demo, the table dump and the comparison."""
