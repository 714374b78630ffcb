"""The notebook layer: the %%kcompile and %kreg magics, the live view, completion."""
