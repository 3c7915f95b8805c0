// The resource form: the legal-basis field says it is required as soon as the resource or one
// of its items is shared or opened with conditions, or not at all (Art. 25, 31). The server
// checks the same rule; this only keeps the label true while the form is being filled.
(function () {
  var marker = document.getElementById("legal_basis_required");
  var field = document.getElementById("legal_basis");
  if (!marker || !field) { return; }
  var selects = document.querySelectorAll(
    "#share_type, #open_type, select[name=item_share], select[name=item_open]"
  );
  function restricted(value) { return value === "conditional" || value === "none"; }
  function update() {
    var needed = false;
    for (var i = 0; i < selects.length; i++) {
      if (restricted(selects[i].value)) { needed = true; }
    }
    marker.hidden = !needed;
    if (needed) { field.setAttribute("aria-required", "true"); }
    else { field.removeAttribute("aria-required"); }
  }
  for (var i = 0; i < selects.length; i++) { selects[i].addEventListener("change", update); }
  update();
})();
