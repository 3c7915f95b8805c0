// "返回上一页" on the error page: a link to history.back() without a javascript: URL (CSP).
(function () {
  var links = document.querySelectorAll("a[data-back]");
  for (var i = 0; i < links.length; i++) {
    links[i].addEventListener("click", function (event) {
      if (window.history.length > 1) { event.preventDefault(); window.history.back(); }
    });
  }
})();
