// «Сканировать»: decode a QR code in the browser, then ask the portal where
// it leads (GET scan?code=…): the server opens only its own pages.
// Primary mode: a photo from <input capture> (every phone browser);
// enhancement: the live camera with BarcodeDetector where it exists.
(function () {
  'use strict';
  var form = document.getElementById('scan');
  var photo = document.getElementById('photo');
  var live = document.getElementById('live');
  var video = document.getElementById('video');
  var status = document.getElementById('scan-status');
  var code = document.getElementById('code');

  function say(text) {
    status.textContent = text;
    status.classList.remove('hidden');
  }

  function found(text) {
    code.value = text;
    form.submit();
  }

  function decode(image, size) {
    var scale = Math.min(1, size / Math.max(image.width, image.height));
    var canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(image.width * scale));
    canvas.height = Math.max(1, Math.round(image.height * scale));
    var context = canvas.getContext('2d');
    context.drawImage(image, 0, 0, canvas.width, canvas.height);
    var data = context.getImageData(0, 0, canvas.width, canvas.height);
    var result = window.jsQR(data.data, canvas.width, canvas.height,
      {inversionAttempts: 'attemptBoth'});
    return result && result.data;
  }

  photo.addEventListener('change', function () {
    var file = photo.files && photo.files[0];
    if (!file) {
      return;
    }
    say('Распознаю…');
    var url = URL.createObjectURL(file);
    var image = new Image();
    image.onload = function () {
      URL.revokeObjectURL(url);
      // phone photos are large: a smaller copy decodes faster and often
      // better; the full size is tried when it fails
      var text = decode(image, 1024) || decode(image, 2048);
      if (text) {
        found(text);
      } else {
        say(form.dataset.notFound);
      }
      photo.value = '';
    };
    image.onerror = function () {
      URL.revokeObjectURL(url);
      say(form.dataset.notFound);
    };
    image.src = url;
  });

  if ('BarcodeDetector' in window && navigator.mediaDevices
      && navigator.mediaDevices.getUserMedia) {
    live.classList.remove('hidden');
    live.addEventListener('click', function () {
      var detector = new window.BarcodeDetector({formats: ['qr_code']});
      navigator.mediaDevices.getUserMedia(
        {video: {facingMode: 'environment'}, audio: false}
      ).then(function (stream) {
        video.srcObject = stream;
        video.classList.remove('hidden');
        live.classList.add('hidden');
        return video.play().then(function () {
          var look = function () {
            detector.detect(video).then(function (codes) {
              if (codes.length) {
                stream.getTracks().forEach(function (t) { t.stop(); });
                found(codes[0].rawValue);
              } else {
                setTimeout(look, 250);
              }
            }, function () { setTimeout(look, 500); });
          };
          look();
        });
      }).catch(function () {
        say('Камера недоступна: сфотографируйте код кнопкой выше.');
      });
    });
  }
}());
