// The main navigation folds behind a "菜单" button on a phone (style.css, max-width 720px).
// Loaded in <head> without defer: the "js" class is set before the page is drawn, so the
// navigation never flashes open; without this script the navigation simply shows in full.
(function () {
  document.documentElement.classList.add("js");
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.querySelector("button.nav-toggle");
    var nav = document.getElementById("main-nav");
    if (!button || !nav) { return; }
    button.addEventListener("click", function () {
      var open = nav.classList.toggle("open");
      button.setAttribute("aria-expanded", open ? "true" : "false");
    });
  });
})();
