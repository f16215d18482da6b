"""What is true: curated topics, law articles, and the matcher that finds them."""
