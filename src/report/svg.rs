//! Inline SVG charts (placeholder).
