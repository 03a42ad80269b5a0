"""Review suggestions in the browser (``matrixcoder review``) and learn from the analyst's decisions."""
