"""The shared core of both Lambdas: business rules written once, no handler code."""
