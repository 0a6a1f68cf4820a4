// React 19's types no longer declare the global `JSX` namespace; hast-util-to-jsx-runtime's
// declarations still name `JSX.Element`. Point the global names at React's.
import type { JSX as ReactJSX } from "react";

declare global {
  namespace JSX {
    type Element = ReactJSX.Element;
    type ElementClass = ReactJSX.ElementClass;
    type IntrinsicElements = ReactJSX.IntrinsicElements;
  }
}
