import "@testing-library/jest-dom/vitest";
import { cleanup } from "@testing-library/react";
import { afterEach } from "vitest";

// jsdom has no <dialog> modal support.
if (typeof HTMLDialogElement !== "undefined" && !("showModal" in HTMLDialogElement.prototype && HTMLDialogElement.prototype.showModal.toString().includes("native"))) {
  HTMLDialogElement.prototype.showModal = function showModal(this: HTMLDialogElement) {
    this.setAttribute("open", "");
  };
  HTMLDialogElement.prototype.close = function close(this: HTMLDialogElement) {
    this.removeAttribute("open");
  };
}

afterEach(() => {
  cleanup();
  localStorage.clear();
});
