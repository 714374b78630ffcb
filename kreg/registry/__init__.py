"""The catalogue of components: entries, their index, building them, and the plugins that fill it.

- :mod:`~kreg.registry.catalog`: the process-wide :class:`~kreg.registry.catalog.Catalog`
  (``kreg.get``, ``lookup``, ``entries``, ``plugins``, ``prefer``, ``reload``);
- :mod:`~kreg.registry.entry`: one registered component, a read-only record;
- :mod:`~kreg.registry.index`: spellings -> entries, ranking, preferences, conflicts;
- :mod:`~kreg.registry.build`: entry -> ready Keras object (import, contract gate, factory),
  with :mod:`~kreg.registry.parameters` (which arguments) and :mod:`~kreg.registry.legacy`
  (Keras 2 arguments);
- :mod:`~kreg.registry.plugins`, :mod:`~kreg.registry.hookspecs`,
  :mod:`~kreg.registry.registration`: discovering plugins and taking their registrations;
- :mod:`~kreg.registry.builtin` and :mod:`~kreg.registry.sources`: Keras's own catalogue,
  read from its source files without importing it;
- :mod:`~kreg.registry.checking`: ``kreg.check`` for names and entries.
"""
