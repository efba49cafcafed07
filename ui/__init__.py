"""Streamlit helpers shared by the dashboard pages.

- :mod:`ui.data`: the data root, dataset discovery, and cached calls into
  :mod:`analysis`;
- :mod:`ui.sidebar`: the dataset picker and its ``dataset`` query parameter;
- :mod:`ui.errors`: showing an :class:`analysis.AnalysisError` to the user.

Page scripts only lay out what these helpers return. Importing a module of this
package draws nothing and opens no dataset.
"""
